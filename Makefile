# Whetstone — the two commands a newcomer needs:
#   make run    install what is missing, build (release), fetch the default models, open the workbench
#   make test   the same set-up, then the whole test suite (release build: the numeric tests need it)
SHELL := /bin/bash
.DEFAULT_GOAL := run
CONFIG ?= release
SWIFT_FLAGS ?= -c $(CONFIG)
WHET := .build/$(CONFIG)/whet

.PHONY: run test setup deps models build bench lint clean help

help:
	@echo "make run    - set up, build and open the workbench"
	@echo "make test   - set up, build and run every test"
	@echo "make setup  - only install system packages and models"
	@echo "make build  - only build (release)"
	@echo "make bench  - speed figures on the default model (release)"
	@echo "make lint   - the swift-format house rules (.swift-format; part of make test)"

setup: deps models

deps:
	@bash scripts/setup-deps.sh

models:
	@bash scripts/fetch-models.sh

build: deps
	swift build $(SWIFT_FLAGS)

run: setup build
	$(WHET) $(ARGS)

lint:
	@bash scripts/lint.sh

test: setup lint
	CONFIG=$(CONFIG) bash scripts/run-tests.sh $(TEST_FLAGS)

bench: setup build
	$(WHET) bench --model gemma-3-270m-q4_k_m --threads 2

clean:
	rm -rf .build
