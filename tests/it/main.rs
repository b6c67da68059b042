//! Integration tests, one test binary (so the crate links once): the CLI contract, every
//! layout against its samples, bad input, the store, and the window (egui_kittest).

mod bad_input;
mod cli;
mod crash;
mod export;
mod faults;
mod ftps_server;
mod governance;
mod hub;
mod nothing_lost;
mod officer_day;
mod parallel;
mod property;
mod public_record;
mod samples;
mod schedule;
mod search;
mod store;
mod support;
mod tableschema;
mod trust_rules;
mod ui;
mod ui_admin;
mod ui_table;
mod verdict;
mod window;
mod windows;
mod workbook;
