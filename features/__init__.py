"""Point-in-time features in DuckDB SQL for the four risk families, with their catalog."""
