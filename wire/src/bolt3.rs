//! BOLT 3: keys, scripts and transactions (being built).
