//! What shukka writes for people and for other programs: files created safely by the caller's
//! own process, CSV whose cells a spreadsheet will not run, and JSON without characters that
//! reorder or hide text in a terminal.

pub mod csv;
pub mod file;
pub mod json;
pub mod label_file;
