//! Shared support for rtcpeer's integration tests.
//!
//! Each test file that needs it declares `mod common;`. Not every test binary uses every
//! helper, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod aiortc;
pub mod attacker;
pub mod budget;
pub mod chromium;
pub mod coturn;
pub mod ice;
pub mod jsonl;
pub mod media;
pub mod net;
pub mod netns;
pub mod signaling;
pub mod victim;
pub mod wpt;
