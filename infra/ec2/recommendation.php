<?php
// Demo recommendations: a small JSON answer whose size varies with the product.
$related = [
    'espresso-machine' => ['grinder', 'beans', 'milk-jug'],
    'grinder' => ['beans', 'espresso-machine'],
    'kettle' => ['filter', 'beans'],
];
$product = $_GET['product'] ?? '';
if (!isset($related[$product])) {
    http_response_code(404);
    $product = null;
}
header('Content-Type: application/json');
echo json_encode(['product' => $product, 'recommended' => $related[$product] ?? []]);
