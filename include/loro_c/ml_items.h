/* A MovableList state's list items as the snapshot codec hands them to the document (codec
 * decode_movable_list_state -> state thin_ml_elems): one record per list item, in list
 * order, with no Python object per item. Peers are indices into the state's peer table.
 */
#ifndef LORO_C_ML_ITEMS_H
#define LORO_C_ML_ITEMS_H

#include <stdint.h>

/* elem_peer of an item no element stands on (its other fields but lamport are unused) */
#define LC_ML_NO_ELEM 0xFFFFFFFFu

typedef struct {
    uint32_t lamport;       /* the item's own Lamport */
    uint32_t elem_peer;     /* the element standing on it: its insert's (peer, Lamport) */
    uint32_t elem_lamport;
    uint32_t set_peer;      /* the element's winning value write: (peer, Lamport) */
    uint32_t set_lamport;
} lc_ml_item;

#endif
