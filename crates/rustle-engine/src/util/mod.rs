//! Small self-contained helpers the modules and filters share.

pub mod base64;
pub mod escape;
pub mod iter;
pub mod mode;
pub mod oserror;
pub mod pyjson;
pub mod pypath;
pub mod pyre;
pub mod sha1;
pub mod shell;
pub mod time;
