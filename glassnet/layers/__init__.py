"""Keras 3 layers on glassnet tensors (``gn.layers`` mirrors ``keras.layers``)."""
from glassnet.layers.layer import Layer, InputSpec
from glassnet.layers.input_layer import Input, InputLayer, KerasTensor
from glassnet.layers.core import Dense, Activation, Flatten, Dropout
from glassnet.layers.convolutional import (
    Conv1D, Conv2D, Conv1DTranspose, Conv2DTranspose, DepthwiseConv1D, DepthwiseConv2D,
    SeparableConv1D, SeparableConv2D, Convolution1D, Convolution2D, Convolution1DTranspose,
    Convolution2DTranspose, SeparableConvolution1D, SeparableConvolution2D,
)
from glassnet.layers.pooling import (
    MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, MaxPool1D, MaxPool2D,
    AvgPool1D, AvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalAvgPool1D, GlobalAvgPool2D,
)
from glassnet.layers.reshaping_spatial import (
    ZeroPadding1D, ZeroPadding2D, Cropping1D, Cropping2D, UpSampling1D, UpSampling2D,
)
from glassnet.layers.normalization import BatchNormalization, LayerNormalization
from glassnet.layers.preprocessing import Normalization, Rescaling
from glassnet.layers.activation_layers import ReLU, LeakyReLU, PReLU, ELU, Softmax, Maxout
from glassnet.layers.regularization import (
    SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, GaussianNoise, GaussianDropout, ActivityRegularization,
)
from glassnet.layers.reshaping import Reshape, Permute, RepeatVector, Lambda
from glassnet.layers.merging import (
    Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
    add, subtract, multiply, average, maximum, minimum, concatenate, dot,
)
from glassnet.layers.embedding import Embedding, Masking
from glassnet.layers.rnn_cells import SimpleRNNCell, LSTMCell, GRUCell
from glassnet.layers.recurrent import RNN, SimpleRNN, LSTM, GRU
from glassnet.layers.wrappers import Wrapper, Bidirectional, TimeDistributed
from glassnet.layers.augmentation import (
    RandomFlip, RandomRotation, RandomTranslation, RandomZoom, RandomContrast, RandomCrop,
)
from glassnet.layers.attention import MultiHeadAttention, Attention, AdditiveAttention
