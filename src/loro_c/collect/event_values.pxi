# Building the event value objects of loro_c.events (plain Python classes with __slots__)
# from C. Calling such a class runs its __init__ as a Python frame, and even object.__new__
# plus attribute sets go through descriptor lookups: together a large share of the cost of
# an event. A class's slots are member descriptors at fixed offsets in the object, so a
# value is allocated with PyType_GenericAlloc (zeroed, GC-tracked) and its slots written
# directly. Where the slots are not plain member descriptors (another Python
# implementation), the shape falls back to object.__new__ and setattr.
#
# The values are then untracked by the cycle collector, as loro's event objects are (pyo3
# classes without __traverse__): an event of thousands of diffs otherwise allocates enough
# tracked objects to set off collections that walk them, and the document's own objects,
# several times over. A value that the user makes part of a reference cycle is then freed
# only when the cycle is broken, as with loro's.

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_DECREF
import types as _pytypes

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    PyObject* PyType_GenericAlloc(PyTypeObject *t, Py_ssize_t n) except NULL
    void PyObject_GC_UnTrack(void *op)
    int PyObject_GC_IsTracked(PyObject *op)

DEF MAX_SLOTS = 8


cdef struct value_shape:
    PyObject *cls           # borrowed: the classes live as long as loro_c.events
    Py_ssize_t off[MAX_SLOTS]
    int n
    bint direct
    bint tracked            # left to the cycle collector (a value that holds a registry)


cdef int shape_init(value_shape *s, object cls, tuple names, bint tracked=False) except -1:
    s.cls = <PyObject*>cls
    s.tracked = tracked
    s.n = len(names)
    s.direct = s.n <= MAX_SLOTS
    for i, name in enumerate(names):
        desc = getattr(cls, name)
        if type(desc) is not _pytypes.MemberDescriptorType or not s.direct:
            s.direct = False
            break
        s.off[i] = (<PyMemberDescrObject*><PyObject*>desc).d_member.offset
    return 0


cdef object make_value(value_shape *s, tuple names, PyObject **vals):
    """A new instance of the shape's class with its slots set to `vals` (in `names` order)."""
    cdef PyObject *o
    cdef int i
    if not s.direct:
        obj = object.__new__(<object>s.cls)
        for i in range(s.n):
            setattr(obj, names[i], <object>vals[i])
        return obj
    o = PyType_GenericAlloc(<PyTypeObject*>s.cls, 0)
    for i in range(s.n):
        Py_INCREF(<object>vals[i])
        (<PyObject**>((<char*>o) + s.off[i]))[0] = vals[i]
    if not s.tracked and PyObject_GC_IsTracked(o):
        PyObject_GC_UnTrack(o)
    obj = <object>o
    Py_DECREF(obj)          # the cast took a reference; the allocation's own is returned
    return obj
