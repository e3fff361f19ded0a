#pragma once
// On/off switches read from the environment.

namespace kiln {

// $name as a switch: "1" on; unset, empty or "0" off; anything else throws kiln::Error naming it.
bool env_switch(const char* name);

// $name as an integer in [lo, hi]; `fallback` when unset or empty; anything else throws
// kiln::Error naming it.
int env_int(const char* name, int fallback, int lo, int hi);

}  // namespace kiln
