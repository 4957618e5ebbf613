# Thin wrappers around the npm scripts; `make help` lists them.
.DEFAULT_GOAL := help
.PHONY: help install build template lambda test lint bench plan docs deploy redrive quarantine teardown clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## npm ci (and the Python tools: cfn-lint, moto server, the AWS CLI)
	python3 -m pip install cfn-lint 'moto[server]' awscli
	npm ci

build: ## Template and Lambda bundle (npm run build)
	npm run build

template: ## Regenerate templates/TapStack.yml (npm run build:template)
	npm run build:template

lambda: ## Bundle the processor into dist/processor-<hash>.zip (npm run build:lambda)
	npm run build:lambda

test: ## The whole test suite (npm test)
	npm test

lint: ## cfn-lint on the template (npm run lint:cfn)
	npm run lint:cfn

bench: ## Processor benchmarks (npm run bench)
	npm run bench

# make plan SENSORS=200000 HZ=2 [ZONES=40]: your city's numbers (defaults: 50,000 sensors at 1 Hz).
SENSORS ?= 50000
HZ ?= 1
plan: ## Capacity plan: make plan SENSORS=50000 HZ=1 [ZONES=N] (npm run plan)
	npm run plan -- --sensors $(SENSORS) --hz $(HZ)$(if $(ZONES), --zones $(ZONES))

docs: ## Regenerate the generated documentation (npm run docs)
	npm run docs

# Each target that needs ENV (and BUCKET) stops with one line when it is missing.
need = $(if $($(1)),,$(error make $@ needs $(1)=<$(2)>, e.g. make $@ $(1)=$(3)))

deploy: ## Deploy: make deploy ENV=dev BUCKET=my-artifacts (npm run deploy)
	$(call need,ENV,environment,dev)
	$(call need,BUCKET,artifact bucket,my-city-tapstack-artifacts)
	npm run deploy -- --env $(ENV) --bucket $(BUCKET)

redrive: ## Redrive the processor DLQ: make redrive ENV=dev [ARGS=--dry-run] (npm run redrive)
	$(call need,ENV,environment,dev)
	npm run redrive -- --env $(ENV) $(ARGS)

quarantine: ## Quarantine summary: make quarantine ENV=dev [ARGS=--export q.jsonl] (npm run quarantine)
	$(call need,ENV,environment,dev)
	npm run quarantine -- --env $(ENV) $(if $(ARGS),$(ARGS),--summary)

teardown: ## Delete a stack and what it leaves: make teardown ENV=dev (npm run teardown)
	$(call need,ENV,environment,dev)
	npm run teardown -- --env $(ENV) $(ARGS)

clean: ## Remove build output
	rm -rf dist reports
