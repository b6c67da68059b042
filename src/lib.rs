//! ESR Interface Desk: load, validate, fix and export the batch files NHS trusts exchange with
//! ESR, the NHS Electronic Staff Record.
//!
//! The walk of the data, one module a stage: [`catalogue`] (what interfaces exist),
//! [`layout`] (how each interface's file is built, with [`notation`] and [`checks`]),
//! [`reader`] (bytes to records), [`validate`] (records to issues, codes in [`rules`]),
//! [`detect`] (which interface a file is), [`generate`] (synthetic samples) and [`writer`]
//! (records back to bytes). Everything outside `ui` is free of egui: the GUI and the command
//! line are two thin faces over the same core.

pub mod catalogue;
pub mod checks;
pub mod detect;
pub mod export;
pub mod expr;
pub mod failpoint;
pub mod fixes;
pub mod generate;
pub mod hub;
pub mod jml;
pub mod keyindex;
pub mod layout;
pub mod logs;
pub mod mapping;
pub mod notation;
pub mod pages;
pub mod paths;
pub mod reader;
pub mod rules;
pub mod sample_workbook;
pub mod schedule;
pub mod store;
pub mod tableschema;
pub mod text;
pub mod ui;
pub mod validate;
pub mod wording;
pub mod workbook;
pub mod worker;
pub mod writer;
