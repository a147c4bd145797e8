"""The request journal's rules, the same for every store.

:mod:`broker.journal.entries` bounds what one entry may hold (headers, bodies and
the whole encoded entry, each with a marker where something was cut);
:mod:`broker.journal.retention` decides how much the journal keeps (entries and
bytes) and when a store trims it. Stores apply both, and nothing else about size.
"""
