"""Build of refstrat's native core (metadata lives in pyproject.toml).

Build options, as environment variables read at build time:
  REFSTRAT_SANITIZE=address,undefined   compile the core with these sanitizers (-fsanitize=...),
                                        for the CI's memory-safety run; load the runtime with
                                        LD_PRELOAD when importing it into an uninstrumented Python.
  REFSTRAT_NATIVE=1                     add -march=native (off by default: wheels must run anywhere).
"""

import glob
import hashlib
import os
import shutil
import sysconfig
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
    """Compile an extension's C files side by side, one compiler per CPU, and keep the objects in
    build/objects-KEY (KEY: a hash of the compiler, its flags and the interpreter's ABI), where a
    later build reuses each object whose source and headers (the extension's depends) have the
    same contents as when it was compiled. The core's translation units each instantiate the
    kernel copies and take tens of seconds apiece; pip's editable builds work in a fresh temporary
    folder every time, so without this a second `pip install -e` (the README's bench and test
    commands) compiles everything again. Objects come back in source order, so the link line is
    the serial build's."""

    def build_extension(self, ext):
        serial = self.compiler.compile

        def compile_all(sources, output_dir=None, macros=None, include_dirs=None, *args, **kwargs):
            key = self._key(macros, include_dirs, {k: v for k, v in kwargs.items() if k != "depends"}, args)
            cache = os.path.join(HERE, "build", "objects-" + key)
            objects = self.compiler.object_filenames(sources, output_dir=cache)
            headers = b"".join(_read(d) for d in sorted(ext.depends))
            digests = [hashlib.sha256(_read(src) + headers).hexdigest() for src in sources]
            stale = [
                (src, obj, d)
                for src, obj, d in zip(sources, objects, digests)
                if not os.path.exists(obj) or _read(obj + ".digest", b"").decode() != d
            ]

            def build(job):  # into this build's own folder, then into the cache whole (an
                src, obj, digest = job  # interrupted compile leaves nothing there to reuse)
                fresh = serial([src], output_dir, macros, include_dirs, *args, **kwargs)[0]
                os.makedirs(os.path.dirname(obj), exist_ok=True)
                shutil.copy2(fresh, obj + ".part")
                os.replace(obj + ".part", obj)
                with open(obj + ".digest", "w") as f:
                    f.write(digest)

            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                list(pool.map(build, stale))
            return objects

        self.compiler.compile = compile_all
        try:
            super().build_extension(ext)
        finally:
            self.compiler.compile = serial

    def _key(self, *options):
        cc = self.compiler.compiler_so
        stamp = [cc, sysconfig.get_config_var("EXT_SUFFIX"), *options]
        path = shutil.which(cc[0])
        if path:
            stamp.append(os.path.getmtime(path))  # an upgraded compiler starts afresh
        return hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]


def _read(path, missing=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        if missing is None:
            raise
        return missing


HERE = os.path.dirname(os.path.abspath(__file__))
compile_args = ["-std=gnu11", "-O2", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]
link_args = ["-pthread"]
sanitize = os.environ.get("REFSTRAT_SANITIZE", "").strip()
if sanitize:
    flags = [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
    # -g1: line tables, enough for the reports' stack traces, in half the compile time of -g
    compile_args += flags + ["-g1", "-O1"]
    link_args += flags
if os.environ.get("REFSTRAT_NATIVE") == "1":
    compile_args.append("-march=native")

core = Extension(
    "refstrat._core",
    # longest compile first: the units that instantiate kernel copies (src/internal.h says who calls whom)
    sources=[
        "src/registry.c",
        "src/explain.c",
        "src/check_table.c",
        "refstrat/_core.pyx",
        "src/runner.c",
        "src/check.c",
        "src/plugins.c",
        "src/check_races.c",
        "src/check_c11.c",
        "src/step.c",
    ],
    include_dirs=["include"],
    depends=[os.path.join("include", "refstrat", f) for f in os.listdir(os.path.join("include", "refstrat"))]
    + sorted(glob.glob(os.path.join("src", "*.h"))),
    extra_compile_args=compile_args,
    extra_link_args=link_args,
    libraries=["m", "dl"],
)

setup(
    cmdclass={"build_py": build_py_with_headers, "build_ext": build_ext_parallel},
    ext_modules=cythonize([core], language_level=3, compiler_directives={"freethreading_compatible": True}),
)
