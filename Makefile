# Two commands for a fresh machine: `make run` (install, then cut out the bundled samples)
# and `make test` (install the test tools, lint, run the tests). Only the package index is used.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-ray lint services bench-setup bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0  # the CPU wheel, before the extra can pull CUDA
	$(BIN)/python -m pip install -q -e '.[test,heif,postgres,diffusion,ray]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lampyris cutout samples --output out/cutouts --overwrite
	$(BIN)/lampyris run examples/catalog.yaml
	@echo "results in out/cutouts (transparent PNG) and out/catalog (1200x1200 JPEG on white, auto-toned);"
	@echo "report: out/catalog-report.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

services:  # the real servers the integration tests start (Ceph radosgw, Azurite, Adobe SDKs)
	bash scripts/install-test-services.sh

# Ray listens on every interface: its tests (marker `ray`) run in a network namespace of their
# own that has nothing but loopback (needs root, as the test services' installer does).
RAY_TESTS := unshare -n sh -c 'ip link set lo up && LAMPYRIS_TEST_NETNS=1 \
	$(BIN)/python -m pytest -q -m ray --durations=10'

test: lint services
	$(BIN)/python -m pytest -q -m "not ray" --durations=15
	$(RAY_TESTS)

test-ray: $(STAMP) services
	$(RAY_TESTS)

bench-setup: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	bash bench/setup_rembg.sh

bench: bench-setup
	$(BIN)/python bench/cutout_bench.py quality
	$(BIN)/python bench/cutout_bench.py throughput --count 50
	$(BIN)/python bench/cutout_bench.py memory
	$(BIN)/python bench/tone_bench.py all
	$(BIN)/python bench/straighten_bench.py
	$(BIN)/python bench/fill_bench.py speed

clean:
	rm -rf $(VENV) out build *.egg-info
