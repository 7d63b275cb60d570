//! Python's `itertools.product` and `zip_longest` over lists, shared by
//! the `nested`/`together` lookups and the `product`/`zip_longest` filters.

/// Every pick of one item from each list, the last list varying fastest.
pub fn product<T: Clone>(lists: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = vec![Vec::new()];
    for list in lists {
        out = out
            .iter()
            .flat_map(|prefix| {
                list.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    out
}

/// The i-th items of the lists together, as long as the longest list,
/// `fill` standing in for the items a shorter list lacks.
pub fn zip_longest<T: Clone>(lists: &[Vec<T>], fill: &T) -> Vec<Vec<T>> {
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .map(|i| {
            lists
                .iter()
                .map(|l| l.get(i).unwrap_or(fill).clone())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_and_zip_longest_as_itertools() {
        assert_eq!(
            product(&[vec![1, 2], vec![3, 4]]),
            [[1, 3], [1, 4], [2, 3], [2, 4]]
        );
        assert_eq!(product::<u8>(&[]), [Vec::<u8>::new()]);
        assert_eq!(zip_longest(&[vec![1, 2], vec![3]], &0), [[1, 3], [2, 0]]);
    }
}
