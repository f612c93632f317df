"""What the dashboard pages read, one module per page, always scoped to one
account. The pages' changes go through the aggregates' own modules
(store/contacts.py, store/calls.py...)."""
