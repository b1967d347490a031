pub(crate) mod apply;
pub(crate) mod candidate;
pub(crate) mod generate;
pub(crate) mod negotiation;
pub(crate) mod transceiver;
pub mod types;
