"""Code that runs *inside* a Paddle runtime.

Rules: Python 3.7 syntax, stdlib + numpy + paddle only, feature detection instead of
version checks. numpy (numpy.random included) is always imported before paddle: Paddle
2.6.2's libpaddle.so exports its own zlib symbols, and numpy 2's extension modules call
zlib.decompress when first imported, which then segfaults inside libpaddle.
"""
PROTOCOL_VERSION = 1
