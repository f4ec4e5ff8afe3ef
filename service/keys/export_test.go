package keys

// Between makes r call f after it read and resealed a batch of table and
// before it writes it back: a test commits a login or an erasure there,
// the gap a concurrent one could fall into.
func (r *Rotator) Between(f func(table string)) *Rotator {
	r.between = f
	return r
}
