package main

func runMeasure(what string, members, trials int, loss, hours float64, first uint64, workers int) int { return 2 }
