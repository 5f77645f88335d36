package main

func cmdAgent(env *env, args []string) int {
	return env.fail("agentd agent: not implemented yet")
}
