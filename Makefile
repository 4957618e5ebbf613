# Thin wrappers around the npm scripts; `make help` lists them.
.DEFAULT_GOAL := help
.PHONY: help install build template lambda test lint bench plan docs deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## npm ci (and the Python tools: cfn-lint, moto server)
	python3 -m pip install cfn-lint 'moto[server]'
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

plan: ## Capacity plan for 50,000 sensors at 1 Hz (npm run plan)
	npm run plan -- --sensors 50000 --hz 1

docs: ## Regenerate the generated documentation (npm run docs)
	npm run docs

deploy: ## Deploy: make deploy ENV=dev BUCKET=my-artifacts (npm run deploy)
	npm run deploy -- --env $(ENV) --bucket $(BUCKET)

clean: ## Remove build output
	rm -rf dist reports cfn-outputs
