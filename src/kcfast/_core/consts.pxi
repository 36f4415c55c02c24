# Compile-time sizes of the record core.

# _SubmittedRun objects kept for reuse: one is made per source partition of each submitted chunk and released
# once all its records are folded into the committable offset, so a few hundred recycled objects avoid most
# allocations in steady state.
DEF SUBMITTED_FREELIST_SIZE = 512
