//! The HSM contract, request authentication and the Redis stream transport (issue 3; being built).
