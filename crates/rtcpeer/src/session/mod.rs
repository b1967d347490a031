pub(crate) mod channels;
pub(crate) mod data;
pub(crate) mod ice;
