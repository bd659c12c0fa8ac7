"""Pure business rules: no database, no HTTP, no wall clock."""
