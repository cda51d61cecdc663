//! Being built (issue 4).
