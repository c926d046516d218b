"""Build of refstrat's native core (metadata lives in pyproject.toml).

Build options, as environment variables read at build time:
  REFSTRAT_SANITIZE=address,undefined   compile the core with these sanitizers (-fsanitize=...),
                                        for the CI's memory-safety run; load the runtime with
                                        LD_PRELOAD when importing it into an uninstrumented Python.
  REFSTRAT_NATIVE=1                     add -march=native (off by default: wheels must run anywhere).
"""
import glob
import os
import shutil

from concurrent.futures import ThreadPoolExecutor

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py


class build_py_with_headers(build_py):
    """Ship include/refstrat/*.h as refstrat/include/refstrat/*.h, where refstrat.get_include()
    finds them in an installed package, so that plugins build against an installed refstrat.
    An editable install needs no copy: get_include() finds them beside the package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = os.path.join(self.build_lib, "refstrat", "include", "refstrat")
        os.makedirs(dest, exist_ok=True)
        for header in glob.glob(os.path.join("include", "refstrat", "*.h")):
            shutil.copy2(header, dest)

class build_ext_parallel(build_ext):
    """Compile an extension's C files side by side, one compiler per CPU. The core's translation
    units each instantiate the kernel copies and take tens of seconds apiece; nothing orders them.
    Objects come back in source order, so the link line is the serial build's."""

    def build_extension(self, ext):
        serial = self.compiler.compile

        def compile_all(sources, *args, **kwargs):
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                parts = pool.map(lambda source: serial([source], *args, **kwargs), sources)
                return [obj for part in parts for obj in part]

        self.compiler.compile = compile_all
        try:
            super().build_extension(ext)
        finally:
            self.compiler.compile = serial


compile_args = ["-std=gnu11", "-O2", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]
link_args = ["-pthread"]
sanitize = os.environ.get("REFSTRAT_SANITIZE", "").strip()
if sanitize:
    flags = [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
    compile_args += flags + ["-g", "-O1"]
    link_args += flags
if os.environ.get("REFSTRAT_NATIVE") == "1":
    compile_args.append("-march=native")

core = Extension(
    "refstrat._core",
    sources=["src/core.c", "src/explain.c", "refstrat/_core.pyx", "src/check.c"],  # longest first
    include_dirs=["include"],
    depends=[os.path.join("include", "refstrat", f) for f in os.listdir(os.path.join("include", "refstrat"))],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
    libraries=["m", "dl"],
)

setup(cmdclass={"build_py": build_py_with_headers, "build_ext": build_ext_parallel},
      ext_modules=cythonize([core], language_level=3, compiler_directives={"freethreading_compatible": True}))
