"""Loro's encodings.

The ``*.pxi`` files here are the parts of the binary codec, compiled into the one extension
module :mod:`loro_c._codec` (see the list at the top of ``_codec.pyx``); :mod:`.json` is the
JSON updates codec.
"""
