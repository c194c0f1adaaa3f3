# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The HTML walk of ``filter.segment``, over libxml2's nodes instead of lxml's proxies.

``segment._walk_python`` is the reference: this module gives the same paragraphs (the
tests compare both on every seed page and on the real corpora). The Python walk asks
lxml for a proxy object, a tag string and a text string at every node; that was a third
of scoring a page. Here the walk reads the C tree lxml already built (its public C API
hands out the node of an element) and makes Python strings only for text that is kept
and for the attributes the rules read. Proxies for source elements are made only for
the seed loader, which needs them.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (
    Py_UNICODE_ISSPACE,
    PyUnicode_4BYTE_KIND,
    PyUnicode_DecodeUTF8,
    PyUnicode_FromKindAndData,
)
from libc.string cimport strcmp, strlen
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Document, _Element, elementFactory, import_lxml__etree
from lxml.includes.tree cimport xmlAttr, xmlNode

import_lxml__etree()

# Set once by filter.segment (configure), so that both walks share their rules.
cdef dict _kinds = None
cdef object _kind_of = None
cdef dict _tokens = None
cdef object _tokens_of = None
cdef object _hidden_style = None
cdef object _paragraph_type = None
cdef object _compose = None
cdef tuple _fields = None
cdef int _SKIP, _BR, _BLOCK, _LINK, _EMPH

cdef extern from "Python.h":
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    bint PyUnicode_IS_ASCII(object s)


def configure(dict kinds, kind_of, dict tokens, tokens_of, hidden_style, paragraph_type,
              tuple fields, compose, int skip, int br, int block, int link, int emph):
    """``paragraph_type``: the class of a paragraph, whose ``fields`` (their names, in
    order) are text, index, tag, link density, emphasis, depth, classes, ancestor
    classes; ``compose``: what ``segment.composed`` does to a text that is not ASCII."""
    global _kinds, _kind_of, _tokens, _tokens_of, _hidden_style, _paragraph_type, _fields
    global _compose, _SKIP, _BR, _BLOCK, _LINK, _EMPH
    if len(fields) != 8:
        raise ValueError(f"a paragraph has 8 fields here, got {fields!r}")
    _kinds, _kind_of, _tokens, _tokens_of = kinds, kind_of, tokens, tokens_of
    _hidden_style, _paragraph_type, _fields, _compose = (hidden_style, paragraph_type,
                                                          fields, compose)
    _SKIP, _BR, _BLOCK, _LINK, _EMPH = skip, br, block, link, emph


cdef object _paragraph_of(list pieces, Py_ssize_t link_chars, Py_ssize_t emphasis_chars,
                          Py_ssize_t index, str tag, int depth, tuple classes,
                          tuple ancestor_classes):
    """``segment._paragraph_of``, value for value. Its fields are set as the dataclass's
    own __init__ sets them (object.__setattr__, past the frozen class's guard), without
    the Python call: that call was a quarter of the walk."""
    cdef str text
    cdef Py_ssize_t plain
    cdef str joined = "".join(pieces)
    if not PyUnicode_IS_ASCII(joined):
        joined = _compose(joined)
    text, plain = block_text(joined)
    if not text:
        return None
    if plain == 0:
        plain = 1
    cdef double link = <double>link_chars / <double>plain
    cdef double emphasis = <double>emphasis_chars / <double>plain
    values = (text, index, tag, link if link < 1.0 else 1.0,
              emphasis if emphasis < 1.0 else 1.0, depth, classes, ancestor_classes)
    para = _paragraph_type.__new__(_paragraph_type)
    for k in range(8):
        PyObject_GenericSetAttr(para, _fields[k], values[k])
    return para


cdef inline str _utf8(const char* s):
    return PyUnicode_DecodeUTF8(s, strlen(s), NULL)


cdef inline bint _is_text(xmlNode* c):
    return c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE


cdef xmlNode* _text_or_skip(xmlNode* c):
    # lxml's _textNodeOrSkip: text nodes, stepping over XInclude markers.
    while c is not NULL:
        if _is_text(c):
            return c
        if c.type == tree.XML_XINCLUDE_START or c.type == tree.XML_XINCLUDE_END:
            c = c.next
            continue
        return NULL
    return NULL


cdef str _collect_text(xmlNode* c):
    """lxml's .text / .tail from the first node on: None when there is nothing."""
    c = _text_or_skip(c)
    if c is NULL:
        return None
    cdef list parts = []
    while c is not NULL:
        if c.content is not NULL and c.content[0] != 0:
            parts.append(_utf8(<const char*>c.content))
        c = _text_or_skip(c.next)
    return "".join(parts)


cdef inline bint _counts_as_element(xmlNode* c):
    # lxml's _isElement: what iterating over an element yields.
    return (c.type == tree.XML_ELEMENT_NODE or c.type == tree.XML_COMMENT_NODE
            or c.type == tree.XML_ENTITY_REF_NODE or c.type == tree.XML_PI_NODE)


cdef object _attr_value(xmlNode* node, xmlAttr* a, _Document doc):
    """The value ``el.get(name)`` gives for attribute ``a`` (one without a namespace)."""
    cdef xmlNode* c = a.children
    if c is NULL:
        return ""
    if c.next is NULL and _is_text(c):
        return _utf8(<const char*>c.content) if c.content is not NULL else ""
    # Entity references inside a value: rare; lxml's own answer is the reference.
    return elementFactory(doc, node).get(_utf8(<const char*>a.name))


# The attributes the rules read, by slot; hidden and href only by their presence.
cdef enum:
    HIDDEN, ARIA_HIDDEN, TYPE, STYLE, CLASS, ID, ROLE, HREF, N_ATTRS
cdef const char* _ATTR_NAMES[8]
_ATTR_NAMES[:] = [b"hidden", b"aria-hidden", b"type", b"style", b"class", b"id", b"role",
                  b"href"]


cdef class _Attrs:
    """The first value of each attribute the rules read, as ``el.get`` finds it (None:
    absent), and whether the element has any attribute at all."""
    cdef bint some
    cdef list values


cdef _Attrs _read_attrs(xmlNode* node, _Document doc):
    cdef _Attrs out = _Attrs.__new__(_Attrs)
    cdef xmlAttr* a = node.properties
    cdef int k
    out.values = [None] * N_ATTRS
    while a is not NULL:
        out.some = True
        if a.ns is NULL:
            for k in range(N_ATTRS):
                if strcmp(<const char*>a.name, _ATTR_NAMES[k]) == 0:
                    if out.values[k] is None:
                        out.values[k] = (True if k == HIDDEN or k == HREF
                                         else _attr_value(node, a, doc))
                    break
        a = a.next
    return out


cdef bint _hidden(_Attrs attrs, str tag):
    cdef list v = attrs.values
    if v[HIDDEN] is not None or (v[ARIA_HIDDEN] is not None
                                 and str(v[ARIA_HIDDEN]).lower() == "true"):
        return True
    if tag == "input" and v[TYPE] is not None and str(v[TYPE]).lower() == "hidden":
        return True
    return bool(v[STYLE]) and bool(_hidden_style(v[STYLE]))


cdef tuple _class_tokens(_Attrs attrs):
    cdef list v = attrs.values
    if v[CLASS] is None and v[ID] is None and v[ROLE] is None:
        return ()
    key = (v[CLASS] or "", v[ID] or "", v[ROLE] or "")
    tokens = _tokens.get(key)
    return tokens if tokens is not None else _tokens_of(key)


cdef str _tag(xmlNode* node, _Document doc):
    if node.ns is not NULL:  # never from the HTML parser; lxml spells it out
        return elementFactory(doc, node).tag
    return _utf8(<const char*>node.name)


cdef class _Block:
    cdef xmlNode* node
    cdef int depth
    cdef tuple ancestor_classes, classes
    cdef list pieces, sources
    cdef Py_ssize_t n_sources, link_chars, emphasis_chars


cdef _Block _new_block(xmlNode* node, int depth, tuple ancestor_classes, tuple classes):
    cdef _Block b = _Block.__new__(_Block)
    b.node, b.depth = node, depth
    b.ancestor_classes, b.classes = ancestor_classes, classes
    b.pieces = []
    b.sources = []
    return b


cdef class _Walk:
    cdef _Document doc
    cdef bint want_sources
    cdef list out

    cdef void add(self, _Block block, str text, xmlNode* source, bint in_link,
                  bint in_emphasis) except *:
        cdef Py_ssize_t chars
        if not text.strip():
            if block.pieces:
                block.pieces.append(" ")
            return
        text = text.replace("\n", " ")
        block.pieces.append(text)
        block.n_sources += 1
        if self.want_sources:
            block.sources.append(elementFactory(self.doc, source))
        if in_link or in_emphasis:
            chars = len(text.replace(" ", ""))
            if in_link:
                block.link_chars += chars
            if in_emphasis:
                block.emphasis_chars += chars

    cdef void flush(self, _Block block) except *:
        if block.n_sources == 0:  # most blocks hold only other blocks
            if block.pieces:
                block.pieces = []
            return
        para = _paragraph_of(block.pieces, block.link_chars, block.emphasis_chars,
                             len(self.out), _tag(block.node, self.doc), block.depth,
                             block.classes, block.ancestor_classes)
        if para is not None:
            element = elementFactory(self.doc, block.node) if self.want_sources else None
            self.out.append((para, element, block.sources))
        block.pieces = []
        block.sources = []
        block.n_sources = block.link_chars = block.emphasis_chars = 0

    cdef void walk(self, xmlNode* el, _Block block, int depth, bint in_link,
                   bint in_emphasis, tuple anc) except *:
        cdef xmlNode* child
        cdef int kind
        cdef _Attrs attrs
        cdef _Block inner
        cdef str text, name
        text = _collect_text(el.children)
        if text:
            self.add(block, text, el, in_link, in_emphasis)
        child = el.children
        while child is not NULL:
            if not _counts_as_element(child):
                child = child.next
                continue
            if child.type == tree.XML_ELEMENT_NODE:
                name = _tag(child, self.doc)
                found = _kinds.get(name)
                kind = <int>(found if found is not None else _kind_of(name))
                if kind != _SKIP:
                    attrs = _read_attrs(child, self.doc)
                    if attrs.some and (attrs.values[HIDDEN] is not None
                                       or attrs.values[ARIA_HIDDEN] is not None
                                       or attrs.values[TYPE] is not None
                                       or attrs.values[STYLE] is not None) \
                            and _hidden(attrs, name):
                        pass
                    elif kind == _BR:
                        block.pieces.append("\n")
                    elif kind == _BLOCK:
                        self.flush(block)
                        classes = _class_tokens(attrs) if attrs.some else ()
                        inner = _new_block(child, depth + 1, anc, classes)
                        self.walk(child, inner, depth + 1, in_link, in_emphasis,
                                  anc + classes)
                        self.flush(inner)
                    elif kind == _LINK:
                        self.walk(child, block, depth + 1,
                                  in_link or attrs.values[HREF] is not None,
                                  in_emphasis, anc)
                    else:
                        self.walk(child, block, depth + 1, in_link,
                                  in_emphasis or kind == _EMPH, anc)
            # A comment, processing instruction or entity reference: only its tail.
            text = _collect_text(child.next)
            if text:
                self.add(block, text, el, in_link, in_emphasis)
            child = child.next


def walk(_Element root, bint want_sources=False):
    """[(paragraph, block element, its text's source elements)] for every block with
    text; the element is None and the sources [] unless ``want_sources``."""
    cdef _Walk w = _Walk.__new__(_Walk)
    w.doc = root._doc
    w.want_sources = want_sources
    w.out = []
    cdef _Attrs attrs = _read_attrs(root._c_node, w.doc)
    classes = _class_tokens(attrs)
    cdef _Block top = _new_block(root._c_node, 0, (), classes)
    w.walk(root._c_node, top, 0, False, False, classes)
    w.flush(top)
    return w.out


cdef inline bint _ascii_alnum(Py_UCS4 c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


def class_tokens(str joined, Py_ssize_t limit):
    """``segment._class_tokens_python(joined, limit)``: the ASCII letter-and-digit runs of
    ``joined``, cut again where a lower-case letter meets an upper-case one, lower-cased;
    the first ``limit`` distinct ones of at least two characters that are not all digits."""
    cdef Py_ssize_t n = len(joined), i = 0, start, j
    cdef Py_UCS4 c
    cdef bint digits_only
    cdef unsigned int code
    cdef char buf[256]
    cdef list tokens = []
    cdef str token
    while i < n and len(tokens) < limit:
        c = joined[i]
        if not _ascii_alnum(c):
            i += 1
            continue
        start = i
        i += 1
        while i < n and _ascii_alnum(joined[i]) and not (
                97 <= <unsigned int>joined[i - 1] <= 122 and 65 <= <unsigned int>joined[i] <= 90):
            i += 1
        if i - start < 2:
            continue
        if i - start > 256:
            token = joined[start:i].lower()
            digits_only = token.isdigit()
        else:
            digits_only = True
            for j in range(i - start):
                c = joined[start + j]
                if not (48 <= <unsigned int>c <= 57):
                    digits_only = False
                code = <unsigned int>c
                buf[j] = <char>(code + 32 if 65 <= code <= 90 else code)  # A-Z
            token = buf[:i - start].decode("ascii")
        if not digits_only and token not in tokens:
            tokens.append(token)
    return tuple(tokens)


cdef inline bint _space_run_char(Py_UCS4 c):
    # segment._SPACES: [ \t\f\v\r\u00a0\u2000-\u200b\u3000]
    return (c == 32 or c == 9 or c == 12 or c == 11 or c == 13 or c == 0xA0
            or 0x2000 <= c <= 0x200B or c == 0x3000)


def block_text(str joined):
    """``segment._block_text_python(joined)``: runs of segment._SPACES made one space,
    each line stripped (str.strip), empty lines dropped; with the number of characters
    that are neither a line break nor a space. ("", 0) for a block with no text."""
    cdef Py_ssize_t n = len(joined), i = 0, line_start, start, stop, at = 0, plain = 0, k
    cdef Py_UCS4 c
    cdef bint in_run
    cdef Py_UCS4* out
    cdef Py_UCS4* line
    if n == 0:
        return "", 0
    out = <Py_UCS4*>PyMem_Malloc(2 * n * sizeof(Py_UCS4))
    if out is NULL:
        raise MemoryError()
    line = out + n
    try:
        while i <= n:
            # One line of the input: collapsed into ``line``, then stripped into ``out``.
            line_start = i
            k = 0
            in_run = False
            while i < n:
                c = joined[i]
                if c == 10:
                    break
                if _space_run_char(c):
                    if not in_run:
                        line[k] = 32
                        k += 1
                    in_run = True
                else:
                    line[k] = c
                    k += 1
                    in_run = False
                i += 1
            i += 1  # past the line break (or the end)
            start, stop = 0, k
            while start < stop and Py_UNICODE_ISSPACE(line[start]):
                start += 1
            while stop > start and Py_UNICODE_ISSPACE(line[stop - 1]):
                stop -= 1
            if start == stop:
                continue
            if at:
                out[at] = 10
                at += 1
            for k in range(start, stop):
                c = line[k]
                out[at] = c
                at += 1
                if c != 32:
                    plain += 1
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, at), plain
    finally:
        PyMem_Free(out)
