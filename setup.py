"""The compiled modules; everything else is in pyproject.toml.

filter/fastwalk.pyx (the HTML walk) builds against the lxml in the build environment: it
reads the C tree through lxml's public C API (struct fields only, no libxml2 symbols), so
any lxml the package may run with fits. filter/fasttrees.pyx scores boosted trees;
filter/fastwords.pyx does the features' per-word work, filter/fastblocks.pyx their block
columns. Where they cannot be built, filter.segment, filter.inference, filter.features and
filter.shape do the same in Python.
"""

import lxml
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize(
    [Extension("filter.fastwalk", ["filter/fastwalk.pyx"], include_dirs=lxml.get_include()),
     Extension("filter.fasttrees", ["filter/fasttrees.pyx"]),
     Extension("filter.fastwords", ["filter/fastwords.pyx"]),
     Extension("filter.fastblocks", ["filter/fastblocks.pyx"])],
    compiler_directives={"language_level": "3"},
))
