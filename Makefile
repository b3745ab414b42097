# PGXS build of the store_monitoring extension (C++20).
#   make && make install         build and install into the PostgreSQL that pg_config names
#   make installcheck            pg_regress tests against a running server (PGHOST/PGPORT)
#   make prove_installcheck      TAP tests (they start their own throwaway clusters;
#                                PostgreSQL refuses to run as root, so run them as another user)
#   make WERROR=1                warnings are errors (CI sets it; off by default so that a
#                                packager's newer compiler with new warnings still builds)
#   make compile_commands.json   the compiler's flags per file, for clangd and clang-tidy
#   make tidy                    clang-tidy (checks in .clang-tidy) over src/core and src/pg
EXTENSION = store_monitoring
MODULE_big = store_monitoring
DATA = $(wildcard sql/store_monitoring--*.sql)

# One level of subfolders too, so that moving files into src/pg/<area>/ needs
# no change here.
CORE_SRCS = $(wildcard src/core/*.cpp src/core/*/*.cpp)
GLUE_SRCS = $(wildcard src/pg/*.cpp src/pg/*/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(GLUE_SRCS:.cpp=.o)

# pg_regress inputs are sql/*.sql beside the install scripts, outputs expected/*.out.
REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/store_monitoring--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=plpgsql

PROVE_TESTS = test/t/*.pl

# Before the PGXS include, which reads it. Dependency files: see below.
EXTRA_CLEAN = $(OBJS:.o=.d) compile_commands.json

SHLIB_LINK += -ldate-tz -lstdc++
# libpq: a coordinator reaches its shards (src/pg/shards/). The macros are
# PGXS's own (Makefile.global), so the libpq of the same installation is used.
SHLIB_LINK += $(libpq)
PG_CPPFLAGS += -I$(libpq_srcdir)

# No LLVM bitcode for JIT inlining: it would need clang and adds nothing here.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# After the include: Makefile.global resets PROVE_FLAGS.
PROVE_FLAGS += -I ./test/perl

# PostgreSQL's server headers are not warning-clean C++20; include them as
# system headers so that warnings (and WERROR) apply to our own code only.
#
# Only what PostgreSQL looks up by name is exported: every symbol is hidden
# unless marked PGDLLEXPORT (Pg_magic_func, _PG_init, pg_finfo_* and the
# functions the install scripts, background workers and parallel workers
# name). Otherwise every inline and template symbol of the date library and
# the standard library is exported and may interpose with another C++
# extension's copy in the same backend. PostgreSQL 16 defines PGDLLEXPORT
# this way itself; 15 leaves it empty on ELF platforms, hence the definition
# here (c.h keeps a PGDLLEXPORT that is already defined).
override CPPFLAGS := -I$(srcdir)/src $(patsubst -I%,-isystem %,$(filter-out -I. -I./ -I$(srcdir),$(CPPFLAGS))) \
	'-DPGDLLEXPORT=__attribute__((visibility("default")))'
override CXXFLAGS := $(filter-out -Wmissing-format-attribute,$(CXXFLAGS)) -std=c++20 -fPIC \
	-fvisibility=hidden -fvisibility-inlines-hidden -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)

# Dependency files: an object is rebuilt when a header it includes changes,
# and only then (-MP: a deleted header is no error).
override CXXFLAGS += -MMD -MP
-include $(OBJS:.o=.d)

# TAP tests on their own target, so that installcheck stays pg_regress only.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)

# The compile commands, recorded from a clean build of the library (bear).
.PHONY: compile_commands.json
compile_commands.json:
	$(MAKE) clean
	bear --output $(CURDIR)/compile_commands.json -- $(MAKE) all

# clang-tidy over the core and the glue, with the checks of .clang-tidy (the
# flags are gcc's: clang is told to ignore the warning options it lacks).
CLANG_TIDY ?= clang-tidy
.PHONY: tidy
tidy: compile_commands.json
	$(CLANG_TIDY) -p $(CURDIR) --quiet --extra-arg=-Wno-unknown-warning-option $(CORE_SRCS) $(GLUE_SRCS)

# A source release of HEAD: store_monitoring-<version>.zip (the version of
# META.json), as PGXN takes it. Uncommitted changes are not included.
DIST_VERSION = $(shell sed -n 's/^   "version": "\(.*\)",$$/\1/p' $(srcdir)/META.json)
.PHONY: dist
dist:
	git -C $(srcdir) archive --format=zip --prefix=store_monitoring-$(DIST_VERSION)/ \
		-o $(CURDIR)/store_monitoring-$(DIST_VERSION).zip HEAD
