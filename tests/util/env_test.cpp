// env_switch: "1" on; unset, empty, "0" off; env_int: a bounded integer or the fallback; anything
// else an error naming the variable.
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

TEST(EnvInt, ReadsABoundedIntegerOrTheFallback) {
  const char* name = "KILN_TEST_ENV_INT";
  unsetenv(name);
  EXPECT_EQ(env_int(name, 7, 2, 8), 7);
  setenv(name, "", 1);
  EXPECT_EQ(env_int(name, 7, 2, 8), 7);
  setenv(name, "5", 1);
  EXPECT_EQ(env_int(name, 7, 2, 8), 5);
  for (const char* bad : {"9", "1", "5x", "x", "-3"}) {
    setenv(name, bad, 1);
    try {
      env_int(name, 7, 2, 8);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), std::string("KILN_TEST_ENV_INT must be an integer in 2..8, got '") + bad + "'");
    }
  }
  unsetenv(name);
}

}  // namespace
}  // namespace kiln
