//! Parking tariff rules v1: validation and arithmetic quoting (SPEC 2.3).
