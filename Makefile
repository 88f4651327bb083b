# metapix: the commands a newcomer types. See README.md.
#   make demo    set up what is missing, then render the demo and print where it is
#   make test    set up what is missing, then run every test
# Set-up is idempotent and cached (~/.cache/metapix, or $METAPIX_CACHE): a second run is quick.

CARGO ?= cargo
export PATH := $(HOME)/.cargo/bin:$(PATH)
BIN := target/release
DEMO_DIR := out/demo

.PHONY: setup system onnxruntime libtorch models reference build demo test lint bench clean

setup: system onnxruntime libtorch models

system:
	@bash scripts/setup-system.sh

onnxruntime:
	@bash scripts/setup-onnxruntime.sh

libtorch:
	@bash scripts/setup-libtorch.sh

models:
	@bash models/prepare.sh

# MediaPipe's own landmarks on ../shared/data, for the accuracy test (skips without the data).
reference:
	@bash scripts/reference.sh

build: system libtorch
	$(CARGO) build --release --locked

demo: setup build
	@mkdir -p $(DEMO_DIR)
	$(BIN)/metapix synth --out $(DEMO_DIR) --identities 2 --seconds 8 -q
	$(BIN)/metapix synth --out $(DEMO_DIR)/targets --identities 2 --seconds 8 --fps 15 --size 256x256 \
		--prepared -q
	$(BIN)/metapix personalize $(DEMO_DIR)/targets/identity-001 --shots 5 --steps 20 --device cpu \
		--out $(DEMO_DIR)/identity-001.safetensors
	$(BIN)/metapix-stream $(DEMO_DIR)/identity-000.mp4 $(DEMO_DIR)/demo.mp4 --view side-by-side \
		--model $(DEMO_DIR)/identity-001.safetensors --stats $(DEMO_DIR)/stats.json
	@echo
	@echo "demo: a synthetic dancer ($(DEMO_DIR)/identity-000.mp4), the skeleton metapix found, and another"
	@echo "      person, personalized from 5 of their frames (Posewarp, the default generator), performing"
	@echo "      that dance: $(CURDIR)/$(DEMO_DIR)/demo.mp4"
	@echo "      (run statistics: $(DEMO_DIR)/stats.json)"

test: setup reference
	$(CARGO) test --release --locked --no-fail-fast

lint: system libtorch
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

bench: setup build
	$(CARGO) bench --locked --bench pose
	"$${METAPIX_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/metapix}/venv/bin/python" scripts/bench-onnxruntime-python.py
	bash scripts/bench-throughput.sh

clean:
	rm -rf out target
