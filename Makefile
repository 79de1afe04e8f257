# The one entry point for everything a user or CI runs. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
OUT := out

FUNCTIONS := firehose-transformer kinesis-enricher s3-archive-enricher
LAMBDA := PATH="$(CURDIR)/.venv/bin:$$PATH" $(CARGO) lambda
FUNCTION ?= firehose-transformer
EVENT ?= tests/events/firehose-apache-lines.json

FUZZ_SECONDS ?= 60
STACK ?= weblogs

.PHONY: help prerequisites setup demo test check crawler-data test-tools lint links fuzz bench geoip-layer lambda-tools lambda-build deploy-function destroy-function update-stack-code replay reingest watch invoke local-firehose infra-tools infra-check deploy smoke destroy opensearch-setup admin-credentials clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

prerequisites: ## Check what must be on the machine before anything else (Rust via rustup, a C compiler, Python 3 with venv, make)
	@scripts/prerequisites.sh

setup: prerequisites ## Check the prerequisites, fetch the pinned crates
	@$(CARGO) fetch --locked || { echo "cargo fetch failed: the build needs network access to crates.io (and, for make test, to PyPI)" >&2; exit 1; }

demo: setup ## Enrich the bundled sample log with the generated demo GeoIP databases into out/sample.ndjson
	$(CARGO) build --locked --release -p enrich-logs -p geoip-testdata --bins
	./target/release/make-demo-geoip geoip/demo/networks.tsv $(OUT)/demo-geoip
	./target/release/enrich-logs --city-db $(OUT)/demo-geoip/Demo-City.mmdb --asn-db $(OUT)/demo-geoip/Demo-ASN.mmdb \
	  --stats tests/data/sample.log > $(OUT)/sample.ndjson
	@echo "first two documents of $(OUT)/sample.ndjson (demo GeoIP data, not real):"
	@head -n 2 $(OUT)/sample.ndjson

test: setup test-tools lint ## What a change needs (about 7 min from a clean clone on 2 cores, under 2 warm): lint, the workspace's tests, the GeoIP layer's and the template's tests, cfn-lint, the docs' links
	$(CARGO) test --locked --workspace --all-targets
	$(CARGO) build --locked -p geoip-testdata -p enrich-logs --bins  # what the Python tests run
	.venv/bin/python -m unittest discover -s geoip/layer -p 'test_*.py'
	scripts/infra-tools.sh sam
	scripts/infra-check.sh template
	$(MAKE) --no-print-directory links

check: test lambda-build infra-tools ## Everything CI runs (30 to 40 min from a clean clone on 2 shared cores): make test, then the deploy scripts against moto, checkov, sam build, fuzzing, the demo
	$(CARGO) build --locked -p replay-failed-batches -p reingest-failed-documents --bins  # what tests/deploy runs
	.venv/bin/python -m unittest discover -s tests/deploy -p 'test_*.py'
	scripts/infra-check.sh stack
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15
	$(MAKE) --no-print-directory demo

test-tools: ## Install the integration tests' moto server into .venv (the tests start and stop it)
	scripts/test-tools.sh

lint: ## rustfmt and clippy, warnings are errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

links: ## Every relative link and #anchor of README.md, CHANGELOG.md and docs/ points at something that exists
	python3 scripts/check_links.py README.md CHANGELOG.md docs/*.md

fuzz: ## Run each cargo-fuzz target for FUZZ_SECONDS (default 60) on stable (RUSTC_BOOTSTRAP)
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: setup ## Criterion benchmarks, then scripts/bench.sh (enrich-logs over generated logs, the Lambda view)
	$(CARGO) bench --locked -p enrichment -p firehose-transformer
	scripts/bench.sh

lambda-tools: ## Install cargo-lambda and the AWS CLI (PyPI, into .venv) and the aarch64 Rust target
	scripts/lambda-tools.sh

lambda-build: lambda-tools ## Build the functions for arm64 Lambda: target/lambda/<function>/bootstrap and bootstrap.zip
	$(LAMBDA) build --locked --release --arm64 $(addprefix -p ,$(FUNCTIONS))
	$(LAMBDA) build --locked --release --arm64 --output-format zip $(addprefix -p ,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do ls -l target/lambda/$$f/bootstrap.zip | awk -v f=$$f '{printf "%s: %d bytes zipped\n", f, $$5}'; done

deploy-function: lambda-build ## Stand-alone: cargo lambda deploy FUNCTION with its role, layer (and for kinesis-enricher queue and stream mapping); see docs/deploy.md
	scripts/deploy-standalone.sh $(FUNCTION)

destroy-function: lambda-tools ## Stand-alone: delete FUNCTION as deploy-function made it (function, mappings, role, queue), after confirmation
	scripts/destroy-standalone.sh $(FUNCTION)

update-stack-code: lambda-build ## New code for the functions of the deployed STACK (default weblogs), every stack setting kept
	scripts/update-stack-code.sh $(STACK)

replay: lambda-tools ## Replay the failed batches of the deployed STACK's on-failure queue (while the stream still holds them)
	$(CARGO) build --locked --release -p replay-failed-batches
	scripts/replay.sh $(STACK)

reingest: lambda-tools ## Send the documents Firehose gave up on (the backup bucket's failed/ files) back through the deployed STACK's delivery streams; ARGS=--dry-run to look first
	$(CARGO) build --locked --release -p reingest-failed-documents
	scripts/reingest.sh $(STACK) $(ARGS)

watch: lambda-tools demo ## Run the functions locally (127.0.0.1:9000) with the demo GeoIP databases
	$(LAMBDA) watch --invoke-address 127.0.0.1

invoke: ## Send EVENT to the watched FUNCTION (default: firehose-transformer, tests/events/firehose-apache-lines.json)
	$(LAMBDA) invoke --invoke-address 127.0.0.1 $(FUNCTION) --data-file $(EVENT)

local-firehose: ## Start a local Firehose and archive bucket (moto, 127.0.0.1:5000) for the watched kinesis-enricher and s3-archive-enricher
	scripts/local-firehose.sh start

crawler-data: ## Refresh the crawler list (functions/enrichment/data/crawler-user-agents/) from PyPI; VERSION=x.y.z for a given release
	scripts/crawler-data.sh $(VERSION)

geoip-layer: ## Fill geoip/layer/build/geoip/ with real databases (MaxMind key in MAXMIND_ACCOUNT_ID/_LICENSE_KEY, else DB-IP Lite of this month or DBIP_MONTH=YYYY-MM)
	python3 geoip/layer/fetch_geoip.py $(if $(DBIP_MONTH),--dbip-month $(DBIP_MONTH))

infra-tools: ## Install the SAM CLI with cfn-lint and its serverless rules (.venv-sam) and checkov (.venv-checkov)
	scripts/infra-tools.sh

infra-check: infra-tools lambda-tools test-tools ## Offline: cfn-lint, checkov, template and apply.py tests, sam validate --lint, sam build
	scripts/infra-check.sh

deploy: infra-tools lambda-tools ## Build and deploy infra/template.yaml as STACK (sam deploy --guided; run make geoip-layer first); answers saved in the untracked infra/samconfig.local.toml
	@ls geoip/layer/build/geoip/*-City.mmdb >/dev/null 2>&1 || { echo "geoip/layer/build/geoip/ has no City database: run make geoip-layer first"; exit 1; }
	scripts/preflight.sh $(STACK)
	@[ -f infra/samconfig.local.toml ] || cp infra/samconfig.toml infra/samconfig.local.toml
	cd infra && PATH="$(CURDIR)/.venv/bin:$$PATH" ../.venv-sam/bin/sam build --config-file samconfig.local.toml \
	  && ../.venv-sam/bin/sam deploy --guided --config-file samconfig.local.toml --stack-name $(STACK)

smoke: lambda-tools ## Put the sample lines into the deployed STACK's stream and wait until its metrics show them in OpenSearch
	scripts/smoke.sh $(STACK)

destroy: lambda-tools ## Delete the deployed STACK after naming what is lost and what stays (asks for the stack's name; CONFIRM=STACK without a terminal)
	CONFIRM=$(CONFIRM) scripts/destroy.sh $(STACK)

admin-credentials: ## Print `export` lines with a Dashboards administrator's AWS credentials for STACK (signed requests to the domain: a _bulk backfill)
	@scripts/infra-tools.sh sam >&2
	@.venv-sam/bin/python infra/opensearch/credentials.py --stack-name $(STACK)

opensearch-setup: infra-tools ## Apply the security roles, the index template, the retention policy (ISM) and the dashboards to the deployed STACK (default weblogs) again, as an administrator
	.venv-sam/bin/python infra/opensearch/apply.py --stack-name $(STACK)

clean: ## Remove build output
	$(CARGO) clean
	rm -rf $(OUT) geoip/layer/build .venv .venv-sam .venv-checkov infra/.aws-sam
