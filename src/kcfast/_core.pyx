# The compiled record core. Everything done per record lives here and is called once per batch.
# The parts are included below; the contract of every cdef class is in _core.pxd.

__all__ = []
