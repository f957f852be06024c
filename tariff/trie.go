package tariff

// trie is a digit trie for longest-prefix lookup: one node per prefix digit,
// children indexed by digit, so a lookup costs one step per digit of the
// number whatever the number of prefixes, and allocates nothing.
type trie struct {
	nodes []trieNode
}

type trieNode struct {
	child [10]int32 // index of the child node per digit, 0 for none (the root is never a child)
	value int32     // index of the entry ending here, -1 for none
}

func newTrie() *trie {
	return &trie{nodes: []trieNode{{value: -1}}}
}

// insert adds prefix (digits only) for entry index v. It returns the index
// already there and false if the prefix was inserted before.
func (t *trie) insert(prefix string, v int32) (int32, bool) {
	n := int32(0)
	for i := 0; i < len(prefix); i++ {
		d := prefix[i] - '0'
		next := t.nodes[n].child[d]
		if next == 0 {
			t.nodes = append(t.nodes, trieNode{value: -1})
			next = int32(len(t.nodes) - 1)
			t.nodes[n].child[d] = next
		}
		n = next
	}
	if old := t.nodes[n].value; old >= 0 {
		return old, false
	}
	t.nodes[n].value = v
	return v, true
}

// longest returns the entry of the longest prefix of number (digits only)
// and the prefix's length, or -1.
func (t *trie) longest(number string) (v int32, n int) {
	v = -1
	node := int32(0)
	for i := 0; i < len(number); i++ {
		d := number[i] - '0'
		if d > 9 {
			break
		}
		node = t.nodes[node].child[d]
		if node == 0 {
			break
		}
		if x := t.nodes[node].value; x >= 0 {
			v, n = x, i+1
		}
	}
	return v, n
}
