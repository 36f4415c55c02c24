# Compile-time sizes of the record core.

# SubmittedRecord objects kept for reuse: one is made per produced source record and released once its
# offset is committed, so a few hundred recycled objects avoid most allocations in steady state.
DEF SUBMITTED_FREELIST_SIZE = 512
