# PGXS build of the store_monitoring extension (C++20).
#   make && make install         build and install into the PostgreSQL that pg_config names
#   make installcheck            pg_regress tests against a running server (PGHOST/PGPORT)
#   make prove_installcheck      TAP tests (they start their own throwaway clusters;
#                                PostgreSQL refuses to run as root, so run them as another user)
EXTENSION = store_monitoring
MODULE_big = store_monitoring
DATA = $(wildcard sql/store_monitoring--*.sql)

CORE_SRCS = $(wildcard src/core/*.cpp)
GLUE_SRCS = $(wildcard src/pg/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(GLUE_SRCS:.cpp=.o)
SM_HEADERS = $(wildcard src/core/*.hpp src/pg/*.hpp)

# pg_regress inputs are sql/*.sql beside the install scripts, outputs expected/*.out.
REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/store_monitoring--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=plpgsql

PROVE_TESTS = test/t/*.pl

SHLIB_LINK += -ldate-tz -lstdc++
# libpq: a coordinator reaches its shards (src/pg/shards.cpp).
SHLIB_LINK += -lpq
PG_CPPFLAGS += -I$(shell $(PG_CONFIG) --includedir)

# No LLVM bitcode for JIT inlining: it would need clang and adds nothing here.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# After the include: Makefile.global resets PROVE_FLAGS.
PROVE_FLAGS += -I ./test/perl

# PostgreSQL's server headers are not warning-clean C++20; include them as
# system headers so that -Werror applies to our own code only.
override CPPFLAGS := -I$(srcdir)/src $(patsubst -I%,-isystem %,$(filter-out -I. -I./ -I$(srcdir),$(CPPFLAGS))) \
	-DUSE_OS_TZDB=1 -DHAS_STRING_VIEW=1 -DONLY_C_LOCALE=1
override CXXFLAGS := $(filter-out -Wmissing-format-attribute,$(CXXFLAGS)) -std=c++20 -fPIC \
	-Wall -Wextra -Werror

$(OBJS): $(SM_HEADERS)

# TAP tests on their own target, so that installcheck stays pg_regress only.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)
