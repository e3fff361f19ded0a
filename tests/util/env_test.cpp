// env_switch: "1" on; unset, empty, "0" off; anything else an error naming the variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "util/env.h"
#include "util/error.h"

namespace kiln {
namespace {

TEST(EnvSwitch, ReadsOnOffAndRefusesTheRest) {
  const char* name = "KILN_TEST_ENV_SWITCH";
  unsetenv(name);
  EXPECT_FALSE(env_switch(name));
  setenv(name, "", 1);
  EXPECT_FALSE(env_switch(name));
  setenv(name, "0", 1);
  EXPECT_FALSE(env_switch(name));
  setenv(name, "1", 1);
  EXPECT_TRUE(env_switch(name));
  setenv(name, "yes", 1);
  try {
    env_switch(name);
    FAIL() << "'yes' was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "KILN_TEST_ENV_SWITCH must be 0 or 1, got 'yes'");
  }
  unsetenv(name);
}

}  // namespace
}  // namespace kiln
