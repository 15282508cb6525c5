"""The pure domain of order threads: the aggregate, its rules and its errors."""
