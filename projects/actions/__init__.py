"""Every change to the database happens in an action: atomic, checks first, bulk writes."""
