package swimsim

import "testing"

func TestProf300(t *testing.T) {
	d, err := MeasureDissemination(1, 300, 0)
	t.Log(d, err)
}
