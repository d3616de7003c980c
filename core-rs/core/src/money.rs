//! ISO 4217 minor units, exact parsing and formatting (SPEC 2.3).
