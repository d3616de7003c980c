//! Terminal queue: FIFO allocation of card terminals with leases (SPEC 2.4).
