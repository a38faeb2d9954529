//! Integration tests: everything runs for real on loopback (simulator, HTTP, sled, pty).

mod common;
mod console_english;
mod console_fixtures;
mod console_keymap;
mod console_labels;
mod console_redesign;
mod console_render;
mod console_requests;
mod console_state;
mod console_widgets;
mod crash;
mod delivery;
mod futureshop_client;
mod labels;
mod late_cancel;
mod pty;
mod real_data;
mod robot_semantics;
mod rules_model;
mod security;
mod server;
mod simulator;
mod standard_robots;
mod store_cli;
mod unix_users;
mod workflow;
