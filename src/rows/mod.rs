//! Text rows in and out: the register export ([`register`]) and change
//! files ([`change`]), parsed into domain values with errors that name the
//! line and column.

pub mod change;
pub mod register;
