# Tollgate build. The README's quick start is `make run` and `make test`.
GO       ?= go
FUZZTIME ?= 10s
DATA     ?= ./data
LISTEN   ?= 127.0.0.1:7443
DIST     ?= dist
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test bench loadtest instructions crash fuzz cross dist lint clean

all: build

build:
	$(GO) build ./...

# The main job on embedded defaults: initialise $(DATA) on first use and serve.
run:
	$(GO) run ./gateway/cmd/tollgate run --data $(DATA) --listen $(LISTEN)

# Every test, with the race detector, then every benchmark once so they keep
# compiling and running. Must stay under 10 minutes on an idle machine with
# 2 cores. The -timeout is a hang detector, not a speed check: it is each
# test binary's deadline, from which the tests derive their own waits, and
# a package that takes a minute or two on an idle machine takes several
# times that under load (the gateway package ran past 9m at a load near 30).
# -count=1: every test runs, none is answered from Go's test cache.
test:
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

# Go microbenchmarks.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The load scenarios briefly (about a minute in all) against an embedded
# gateway, each with its bare quic-go ceiling, then the table. BENCHMARKS.md
# has the full runs and their commands.
loadtest:
	$(GO) run ./bench/cmd/tollgate-bench --scenario all --duration 2s --warmup 500ms --ceiling --licenses 2000 --sessions 1000

# Instructions per hot validation and per activation under valgrind's
# callgrind: figures the machine's load does not move (about a minute).
instructions:
	GO=$(GO) bash bench/instructions.sh

# 100 SIGKILL cycles of the tollgate binary under concurrent activations and
# deactivations; prints acknowledged / lost / over-seat counts, fails on any
# lost or over-seat (a few minutes on 2 cores).
crash:
	GO=$(GO) $(GO) run ./bench/cmd/tollgate-crash

# Every fuzz target for FUZZTIME each.
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash fuzz/run.sh

# The client binaries for Linux and Windows (no cgo), and the gateway for Linux.
cross:
	mkdir -p $(DIST)
	@for p in linux/amd64 windows/amd64; do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		for c in $$(ls -d clients/cmd/*/ 2>/dev/null); do \
			n=$$(basename $$c); echo "build $(DIST)/$$n-$$os-$$arch$$ext"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -o $(DIST)/$$n-$$os-$$arch$$ext ./$$c || exit 1; \
		done; \
	done
	@for c in $$(ls -d gateway/cmd/*/ 2>/dev/null); do \
		n=$$(basename $$c); echo "build $(DIST)/$$n-linux-amd64"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o $(DIST)/$$n-linux-amd64 ./$$c || exit 1; \
	done

# Release artefacts in $(DIST) (replaced): static binaries of the clients for
# linux/amd64, linux/arm64 and windows/amd64 and of the gateway for Linux,
# named NAME_VERSION_OS_ARCH, SHA256SUMS, and the gateway's .deb (binary,
# systemd unit, system user) when nfpm can be fetched. deploy/dist.sh.
dist:
	GO=$(GO) DIST=$(DIST) VERSION=$(VERSION) bash deploy/dist.sh

# gofmt, go vet, and staticcheck when it can be installed.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@latest -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...; \
	else echo "staticcheck not installable here; skipped"; fi

clean:
	rm -rf $(DIST)

# libtollgate, the client library behind a C ABI (clients/capi/tollgate.h):
# $(DIST)/libtollgate.so (SONAME libtollgate.so.1, the ABI version, a link
# to it) and
# $(DIST)/tollgate.h; and, when mingw-w64 is installed, $(DIST)/tollgate.dll
# with its import library $(DIST)/libtollgate.dll.a and export list
# $(DIST)/tollgate.def (MSVC: lib /def:tollgate.def makes tollgate.lib);
# libgcc is linked in, so the DLL needs only KERNEL32.dll and msvcrt.dll.
# tg_version() returns $(VERSION). -s -w: no DWARF (Go's own stack traces
# still name functions and lines).
MINGW_CC ?= x86_64-w64-mingw32-gcc
MINGW_DLLTOOL ?= $(patsubst %gcc,%dlltool,$(MINGW_CC))
CAPI_LDFLAGS = -s -w -X main.version=$(VERSION)

.PHONY: capi capi-check
capi:
	mkdir -p $(DIST)
	$(GO) build -trimpath -buildmode=c-shared \
		-ldflags '$(CAPI_LDFLAGS) -extldflags "-Wl,--version-script=$(CURDIR)/clients/capi/tollgate.map -Wl,-soname,libtollgate.so.1"' \
		-o $(DIST)/libtollgate.so ./clients/capi
	rm -f $(DIST)/libtollgate.h
	ln -sf libtollgate.so $(DIST)/libtollgate.so.1 # the SONAME programs linked with it ask for
	@if command -v $(MINGW_CC) >/dev/null; then \
		echo "build $(DIST)/tollgate.dll"; \
		CC=$(MINGW_CC) GOOS=windows GOARCH=amd64 CGO_ENABLED=1 $(GO) build -trimpath -buildmode=c-shared \
			-ldflags '$(CAPI_LDFLAGS) -extldflags=-static-libgcc' -o $(DIST)/tollgate.dll ./clients/capi || exit 1; \
		{ echo "LIBRARY tollgate.dll"; echo EXPORTS; \
		  sed -n 's/^[a-z_][a-z_0-9 ]*[ *]\(tg_[a-z_0-9]*\)(.*/\1/p' clients/capi/tollgate.h; } >$(DIST)/tollgate.def; \
		$(MINGW_DLLTOOL) -d $(DIST)/tollgate.def -D tollgate.dll -l $(DIST)/libtollgate.dll.a || exit 1; \
	else echo "$(MINGW_CC) not found: tollgate.dll not built (apt-get install gcc-mingw-w64-x86-64)"; fi
	cp clients/capi/tollgate.h $(DIST)/tollgate.h # over the header cgo writes beside the DLL

# The exported symbols of the built libraries are exactly tollgate.h's
# functions.
capi-check: capi
	sh clients/capi/symcheck.sh $(DIST)/libtollgate.so $(DIST)/tollgate.h
	@if [ -f $(DIST)/tollgate.dll ]; then sh clients/capi/symcheck.sh $(DIST)/tollgate.dll $(DIST)/tollgate.h; fi
