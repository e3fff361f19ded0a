#pragma once
// On/off switches read from the environment.

namespace kiln {

// $name as a switch: "1" on; unset, empty or "0" off; anything else throws kiln::Error naming it.
bool env_switch(const char* name);

}  // namespace kiln
