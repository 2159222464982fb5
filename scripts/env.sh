# Sourced by every script: where the project's tools are cached (outside the checkout,
# so a fresh clone on a warm machine reuses them). Override with POLARGRID_CACHE.
export POLARGRID_CACHE="${POLARGRID_CACHE:-$HOME/.cache/polargrid-core}"
mkdir -p "$POLARGRID_CACHE/bin"
export PATH="$POLARGRID_CACHE/bin:$PATH"
